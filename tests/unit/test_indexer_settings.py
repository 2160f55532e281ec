import pytest

from indexer.errors import ConfigurationError
from indexer.settings import Settings

BASE = {"T4_ES_URL": "http://127.0.0.1:19200"}


def test_defaults_and_overrides():
    s = Settings.from_env({**BASE, "T4_MAX_CHARS": "1000", "T4_TIKA_TIMEOUT": "2.5",
                           "T4_INDEX_VERSIONS": "all"})
    assert (s.max_chars, s.tika_timeout, s.all_versions) == (1000, 2.5, True)
    assert Settings.from_env(BASE).all_versions is False


@pytest.mark.parametrize("env,needle", [
    ({}, "T4_ES_URL"),
    ({"T4_ES_URL": "localhost:9200"}, "http://"),
    ({"T4_ES_URL": "http://es-1:9200,es-2:9200"}, "T4_ES_URL=.*every node URL must start"),
    ({**BASE, "T4_MAX_BYTES": "lots"}, "T4_MAX_BYTES='lots' is not an integer"),
    ({**BASE, "T4_THREADS": "0"}, "T4_THREADS='0' must be at least 1"),
    ({**BASE, "T4_TIKA_TIMEOUT": "-1"}, "T4_TIKA_TIMEOUT='-1' must be positive"),
    ({**BASE, "T4_INDEX_VERSIONS": "some"}, "T4_INDEX_VERSIONS='some'"),
    ({**BASE, "T4_ES_USERNAME": "u"}, "T4_ES_PASSWORD"),
    ({**BASE, "T4_INDEX_SHARDS": "0"}, "T4_INDEX_SHARDS='0' must be at least 1"),
    ({**BASE, "T4_INDEX_REPLICAS": "one"}, "T4_INDEX_REPLICAS: index replicas must be"),
    ({**BASE, "T4_INDEX_REPLICAS": "1-"}, "T4_INDEX_REPLICAS"),
])
def test_bad_settings_name_the_variable(env, needle):
    with pytest.raises(ConfigurationError, match=needle.replace("(", r"\(")):
        Settings.from_env(env)


def test_secret_arn_alone_is_enough():
    s = Settings.from_env({"T4_ES_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:es"})
    assert s.es_url is None and s.es_secret_arn.endswith(":es")


def test_language_detection_is_on_unless_turned_off():
    base = {"T4_ES_URL": "http://es:9200"}
    assert Settings.from_env(base).languages is True
    assert Settings.from_env({**base, "T4_DETECT_LANGUAGE": "false"}).languages is False
    with pytest.raises(ConfigurationError, match="T4_DETECT_LANGUAGE"):
        Settings.from_env({**base, "T4_DETECT_LANGUAGE": "maybe"})


def test_index_layout_defaults_fit_one_node_and_three():
    from t4index.mapping import index_settings, index_template

    layout = Settings.from_env(BASE).layout
    assert (layout.shards, layout.replicas) == (1, "0-1")
    assert index_settings(layout)["index"]["auto_expand_replicas"] == "0-1"
    assert index_template(layout)["template"]["settings"] == index_settings(layout)
    custom = Settings.from_env({**BASE, "T4_INDEX_SHARDS": "6", "T4_INDEX_REPLICAS": "2"}).layout
    assert {k: v for k, v in index_settings(custom)["index"].items()
            if "replicas" in k or "shards" in k} == {
        "number_of_shards": 6, "number_of_replicas": 2, "auto_expand_replicas": False}
    spread = Settings.from_env({**BASE, "T4_INDEX_REPLICAS": "0-all"}).layout
    assert index_settings(spread)["index"]["auto_expand_replicas"] == "0-all"


def test_t4_es_url_may_list_the_clusters_nodes():
    """Every node, so that the indexer survives the loss of any one (the engine layer
    spreads requests over them and fails over)."""
    from indexer.service import engine_config

    s = Settings.from_env({"T4_ES_URL": "http://es-1:9200,http://es-2:9200"})
    config = engine_config(s)
    assert (config.url, config.more_urls) == ("http://es-1:9200", ("http://es-2:9200",))
