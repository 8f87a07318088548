"""Pure, typed model shared by every layer: time, kit, analysis results, charts, errors.

Nothing here touches files, clocks, the network or asyncio, and nothing here
imports any other part of Backbeat.
"""
