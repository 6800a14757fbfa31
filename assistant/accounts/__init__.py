"""Local accounts of 120 agents, supervisors and admins: argon2id password hashes, server-side logins."""
