"""
The OCPP 1.6 feature profiles, one module each.
"""
