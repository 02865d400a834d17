"""How frames travel and who is connected: within one process, or across processes on Redis.

Nothing here knows rooms' rules or renders anything: the domain modules publish through
the broker and ask the presence registry, and the connections subscribe.
"""
