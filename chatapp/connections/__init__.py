"""The long-lived connections: room sockets, event streams, and closing them from elsewhere.

They sit above the domain modules, which they call, beside the blueprints that open them.
"""
