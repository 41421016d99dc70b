"""Registers one model version whose source is a store URI the tracking server never touches
(an s3:// prefix), through MLflow's own client. Reads {"name", "source"} on stdin; writes the
version it made as JSON to the file argv[1]."""
import json
import sys

import mlflow
from mlflow import MlflowClient


def main():
    plan = json.load(sys.stdin)
    mlflow.set_tracking_uri(plan["tracking_uri"])
    client = MlflowClient()
    client.create_registered_model(plan["name"])
    version = client.create_model_version(plan["name"], source=plan["source"])
    with open(sys.argv[1], "w") as out:
        json.dump({"version": version.version, "source": version.source}, out)


if __name__ == "__main__":
    main()
