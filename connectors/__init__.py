"""Source connectors: local files (CSV/TSV, XLSX, JSON/JSONL, Markdown, TXT, HTML, PDF) and the Seoul Open API."""
