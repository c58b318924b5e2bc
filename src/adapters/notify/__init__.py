"""Notifiers that reach people: a mail file for the embedded shop, SMTP for production."""
