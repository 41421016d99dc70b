"""Logs training runs and registers model versions through MLflow's own Python client, as a
training pipeline would, for the `modelchain import mlflow` suite. Reads a JSON plan on stdin
(model directories, the digests the pipeline records) and writes what it made as JSON to the
file argv[1] (MLflow prints its own lines on stdout).

- "Fraud Detector" v1: an MLflow 3 logged model (models:/m-… source), its run with parameters,
  a metric, git tags and two dataset inputs pinned by a modelchain.io/digest input tag.
- "Fraud Detector" v2: fine-tuned from v1 (modelchain.io/parent tag), a runs:/ source.
- "churn" v1 (digest tagged at registration) and v2 (not tagged): artifacts the test changes.
- "ranker" v1: a run whose dataset input has only MLflow's own short digest.
"""
import json
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag


def dataset(name, url, mlflow_digest, sha256=None):
    tags = [InputTag("mlflow.data.context", "training")]
    if sha256 is not None:
        tags.append(InputTag("modelchain.io/digest", sha256))
    source = json.dumps({"url": url})
    return DatasetInput(Dataset(name=name, digest=mlflow_digest, source_type="http", source=source), tags=tags)


def main():
    plan = json.load(sys.stdin)
    mlflow.set_tracking_uri(plan["tracking_uri"])
    client = MlflowClient()
    mlflow.set_experiment("fraud")
    made = {"runs": {}}

    with mlflow.start_run(run_name="base-training") as run:
        mlflow.log_params({"learning_rate": "0.01", "epochs": 20, "max_depth": 6})
        mlflow.log_metrics({"auc": 0.91, "loss": 0.23})
        mlflow.set_tags({
            "mlflow.source.git.commit": "4e8a2c6f0b3d7e1a5c9f2b6d0e4a8c1f5b9d3e7a",
            "mlflow.source.git.repoURL": "https://git.example.com/ml/fraud",
        })
        client.log_inputs(run.info.run_id, datasets=[
            dataset("transactions-2025", "https://data.example.com/transactions-2025.parquet", "7d1e4b2a",
                    plan["datasets"]["transactions"]),
            dataset("labels-2025", "https://data.example.com/labels-2025.csv", "c0ffee11", plan["datasets"]["labels"]),
        ])
        logged = mlflow.initialize_logged_model(name="fraud-model", source_run_id=run.info.run_id)
        client.log_model_artifacts(logged.model_id, plan["models"]["base"])
        mlflow.finalize_logged_model(logged.model_id, "READY")
        made["runs"]["base"] = run.info.run_id
    base = mlflow.register_model(f"models:/{logged.model_id}", "Fraud Detector",
                                 tags={"modelchain.io/digest": plan["digests"]["base"]})

    with mlflow.start_run(run_name="fine-tune") as run:
        mlflow.log_params({"learning_rate": "0.001", "epochs": 3, "base_model": "models:/Fraud Detector/1"})
        client.log_inputs(run.info.run_id, datasets=[
            dataset("chargebacks-2025q3", "https://data.example.com/chargebacks-2025q3.parquet", "99aa11bb",
                    plan["datasets"]["chargebacks"]),
        ])
        mlflow.log_artifacts(plan["models"]["tuned"], "model")
        made["runs"]["tuned"] = run.info.run_id
    tuned = client.create_model_version(
        "Fraud Detector", source=f"runs:/{made['runs']['tuned']}/model", run_id=made["runs"]["tuned"],
        tags={"modelchain.io/parent": f"models:/Fraud Detector/{base.version}",
              "modelchain.io/digest": plan["digests"]["tuned"]})

    client.create_registered_model("churn")
    for key, tagged in (("churn1", True), ("churn2", False)):
        with mlflow.start_run(run_name=key) as run:
            mlflow.log_param("seed", "7")
            mlflow.log_artifacts(plan["models"][key], "model")
            made["runs"][key] = run.info.run_id
        tags = {"modelchain.io/digest": plan["digests"][key]} if tagged else {}
        client.create_model_version("churn", source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id,
                                    tags=tags)
        made[f"{key}_artifacts"] = run.info.artifact_uri

    with mlflow.start_run(run_name="ranker") as run:
        client.log_inputs(run.info.run_id, datasets=[
            dataset("clicks", "https://data.example.com/clicks.parquet", "ab12cd34"),
        ])
        mlflow.log_artifacts(plan["models"]["ranker"], "model")
        made["runs"]["ranker"] = run.info.run_id
    client.create_registered_model("ranker")
    client.create_model_version("ranker", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)

    made["versions"] = {"base": base.version, "tuned": tuned.version}
    with open(sys.argv[1], "w") as out:
        json.dump(made, out)


if __name__ == "__main__":
    main()
