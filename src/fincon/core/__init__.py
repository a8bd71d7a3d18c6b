"""fincon's engine room: connector base, transport, retries, limits, pagination, audit.

Names here are for connector authors; users work with :mod:`fincon` and its public modules.
"""
