"""Run by Debian's python3 (which has QGIS's bindings): read FiberSync's /ogc with QGIS's own
OAPIF provider, headless, and print what QGIS saw as JSON.

    python3 tests/api/qgis_read.py BASE_URL KEY
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    QgsApplication,
    QgsExpression,
    QgsFeatureRequest,
    QgsNetworkAccessManager,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QByteArray


def main(base: str, key: str) -> None:
    app = QgsApplication([], False)  # must outlive every layer
    app.initQgis()
    header = QByteArray(f"Bearer {key}".encode())
    QgsNetworkAccessManager.setRequestPreprocessor(
        lambda request: request.setRawHeader(QByteArray(b"Authorization"), header))
    layer = QgsVectorLayer(f"url='{base}/ogc' typename='addresses'", "addresses", "OAPIF")
    features = list(layer.getFeatures()) if layer.isValid() else []
    connected = list(layer.getFeatures(QgsFeatureRequest(QgsExpression(
        "status = 'connected'")))) if layer.isValid() else []
    print(json.dumps({
        "valid": layer.isValid(), "crs": layer.crs().authid(),
        "fields": [field.name() for field in layer.fields()],
        "count": len(features), "connected": len(connected),
        "first": {"name": features[0]["name"], "wkt": features[0].geometry().asWkt(7)}
        if features else None,
    }), flush=True)
    # QGIS's teardown can crash in a headless process once everything is printed.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
