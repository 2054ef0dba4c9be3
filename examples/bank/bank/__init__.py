"""The bank context: accounts (opened, deposits, withdrawals) and payments taken for shop checkouts."""
