"""Cart: a customer's or an anonymous (token) cart, price snapshots, totals, merge at login."""
