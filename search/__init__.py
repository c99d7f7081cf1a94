"""Monograph Search: section-level search over drug monographs.

The library never imports Flask; the web front end lives in ``web/``.
"""

DISCLAIMER = (
    "This information is for educational purposes only and is not medical advice. "
    "Always consult your healthcare provider or pharmacist before starting, stopping "
    "or changing any medication."
)
