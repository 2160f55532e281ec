"""The CloudFormation templates of a deployment, and helpers to read them.

- ``pipeline.yaml``: event queue and dead-letter queue, queue/topic policies, the
  optional SNS topic or EventBridge rule, the indexer Lambda and its SQS event
  source mapping, alarms.
- ``tika.yaml``: Tika on ECS Fargate behind an internal load balancer.
- ``search.yaml``: the search Lambda behind an API Gateway HTTP API with IAM auth.
- ``opensearch.yaml``: an Amazon OpenSearch Service domain in the VPC (optional: the
  other way is to bring your own Elasticsearch or OpenSearch endpoint).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATES: tuple[str, ...] = ("opensearch.yaml", "pipeline.yaml", "tika.yaml", "search.yaml")


def template_paths() -> list[Path]:
    """Every template file, in deployment order (the domain, if any, and Tika before the
    pipeline, the pipeline before search)."""
    return [TEMPLATE_DIR / name for name in TEMPLATES]


def load_template(name_or_path: str | Path) -> dict[str, Any]:
    """A template as plain JSON-compatible data (short-form tags become ``Fn::*`` / ``Ref``).

    Uses cfn-lint's YAML reader (a dev dependency), imported only here.
    """
    from cfnlint.decode import cfn_yaml

    path = Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        path = TEMPLATE_DIR / path
    return json.loads(json.dumps(cfn_yaml.load(str(path))))
