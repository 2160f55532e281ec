from infra.local.worker import failed_ids, sqs_event

IDS = {"m1", "m2"}


def test_no_failures_keeps_nothing():
    assert failed_ids({"batchItemFailures": []}, IDS) == set()
    assert failed_ids(None, IDS) == set()


def test_listed_failures_are_kept():
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, IDS) == {"m2"}


def test_malformed_answers_fail_the_whole_batch():
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "nope"}]}, IDS) == IDS
    assert failed_ids({"batchItemFailures": [{}]}, IDS) == IDS
    assert failed_ids({"batchItemFailures": "m1"}, IDS) == IDS
    assert failed_ids("ok", IDS) == IDS


def test_sqs_event_has_lambdas_shape():
    event = sqs_event([{"MessageId": "m1", "ReceiptHandle": "r", "Body": "{}",
                        "Attributes": {"ApproximateReceiveCount": "1"}}],
                      "arn:aws:sqs:us-east-1:123:q", "us-east-1")
    record = event["Records"][0]
    assert record["messageId"] == "m1" and record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":q")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_worker_config_holds_lambda_batching_rules():
    import pytest

    from infra.local.worker import WorkerConfig

    assert WorkerConfig(batch_size=100, batching_window=1).batch_size == 100
    with pytest.raises(ValueError, match="at least 1 s"):
        WorkerConfig(batch_size=11)
    with pytest.raises(ValueError, match="outside 1-10,000"):
        WorkerConfig(batch_size=0)
    with pytest.raises(ValueError, match="outside 1-10,000"):
        WorkerConfig(batch_size=10_001, batching_window=5)
    with pytest.raises(ValueError, match="outside 0-300"):
        WorkerConfig(batching_window=301)
