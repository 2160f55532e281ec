"""The local stack: moto server, Elasticsearch, Tika server and the indexer worker on loopback.

Run it with ``python -m infra.local up|down|status|logs|env``.
"""
