"""HTTP adapters: webhook delivery and CloudEvents over HTTP for consumers outside riverbed."""
