"""deploy/docker-compose.yml and deploy/Dockerfile, checked as files (no docker daemon here):
Milvus standalone with etcd and MinIO as in Milvus' official compose file, and ragchat serve on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ragchat.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_the_four_services_each_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == {"etcd", "minio", "milvus", "ragchat"}
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and len(test) > 1, name
    assert services["milvus"]["image"].startswith("milvusdb/milvus:v2.")
    assert "/healthz" in " ".join(services["milvus"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["ragchat"]["healthcheck"]["test"])


def test_milvus_is_wired_to_etcd_and_minio_and_publishes_its_port(compose):
    milvus = compose["services"]["milvus"]
    env = _env(milvus)
    assert env["ETCD_ENDPOINTS"] == "etcd:2379" and env["MINIO_ADDRESS"] == "minio:9000"
    assert "19530:19530" in milvus["ports"]
    assert milvus["command"] == ["milvus", "run", "standalone"]
    assert {k: v["condition"] for k, v in milvus["depends_on"].items()} == {
        "etcd": "service_healthy", "minio": "service_healthy"}


def test_ragchat_serves_on_milvus_once_it_is_healthy(compose):
    ragchat = compose["services"]["ragchat"]
    env = _env(ragchat)
    assert env["RAGCHAT_INDEX__BACKEND"] == "milvus"
    assert env["RAGCHAT_INDEX__MILVUS_URI"] == "http://milvus:19530"
    assert ragchat["depends_on"]["milvus"]["condition"] == "service_healthy"
    assert "8000:8000" in ragchat["ports"]
    assert ragchat["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert "--host" in ragchat["command"] and "0.0.0.0" in ragchat["command"]
    assert "RAGCHAT_SERVE__TOKENS" in env  # it listens beyond loopback: tokens are required


def test_the_compose_environment_is_valid_ragchat_settings(compose, monkeypatch, tmp_path):
    """Every RAGCHAT_ variable the compose file sets is one ragchat reads, with a valid value."""
    env = _env(compose["services"]["ragchat"])
    for key, value in env.items():
        if key.startswith("RAGCHAT_"):
            monkeypatch.setenv(key, '["a-token"]' if key == "RAGCHAT_SERVE__TOKENS" else value)
    monkeypatch.setenv("RAGCHAT_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.index.backend == "milvus" and settings.index.milvus_uri == "http://milvus:19530"
    assert settings.index.milvus_token_env == "MILVUS_TOKEN" and "MILVUS_TOKEN" in env
    assert settings.serve.tokens == ("a-token",)
    assert settings.index.follow_interval_s == float(env["RAGCHAT_INDEX__FOLLOW_INTERVAL_S"])


def test_the_dockerfile_installs_the_milvus_extra_and_serves():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install '.[milvus]'" in text
    assert "RAGCHAT_INDEX__BACKEND=milvus" in text
    assert 'CMD ["ragchat", "serve"' in text and "HEALTHCHECK" in text
    assert "FROM python:3.11" in text
