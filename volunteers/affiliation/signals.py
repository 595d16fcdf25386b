"""What a higher area may listen to: a change of affiliation decided or applied.

The notifications area sits above volunteers in the layers, so these services cannot call it; it connects to
`affiliation_decided` instead (notifications/affiliation.py) and tells the volunteer.
"""

from blinker import Namespace

_signals = Namespace()

#: sent with the AffiliationChange once approved, refused or applied by staff: ``send(change, now=now)``
affiliation_decided = _signals.signal("affiliation-decided")
