"""Payments: authorize, capture, void and refund through a PaymentGateway port, with a
transaction log."""
