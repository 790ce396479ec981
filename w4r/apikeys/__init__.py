"""API keys for partner apps and integrations: the key format, storage as hashes, management
rules, and authentication of the requests that present one."""
