"""Deployment artefacts per org host, rendered from the one topology: compose bundles, Kubernetes manifests.

See network/render/deployment.py for what each org host runs and under which names; compose_bundles.py and
kubernetes.py turn that into files; `python -m network render --out DIR` writes them all.
"""
