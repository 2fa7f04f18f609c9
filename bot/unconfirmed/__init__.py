"""unconfirmed"""
