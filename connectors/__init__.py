"""Source connectors: local files (CSV/TSV, XLSX, JSON, Markdown, TXT, HTML, PDF), Seoul Open API."""
