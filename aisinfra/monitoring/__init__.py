"""Monitoring as code: the metric names AIStore and node-exporter publish, the Grafana dashboards
and the Prometheus alerting rules built on them, each for one cluster of the worksheet."""
