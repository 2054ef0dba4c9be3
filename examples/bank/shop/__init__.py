"""The shop context: stock per SKU and the checkout process manager."""
