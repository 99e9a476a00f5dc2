#!/usr/bin/env bash
# Writes deploy/k8s/configmap.yaml from config/, as
#   kubectl create configmap vigil-config --from-file=config/ --dry-run=client -o yaml
# would (block scalars, files in name order), for machines without kubectl.
set -euo pipefail
cd "$(dirname "$0")/../.."
{
  echo "# Generated from config/ (the test tests/deploy.rs fails when they differ). Regenerate with:"
  echo "#   kubectl create configmap vigil-config --from-file=config/ --dry-run=client -o yaml"
  echo "# or, without kubectl, deploy/k8s/regenerate-configmap.sh"
  echo "apiVersion: v1"
  echo "kind: ConfigMap"
  echo "metadata:"
  echo "  name: vigil-config"
  echo "data:"
  for f in $(ls config | sort); do
    echo "  $f: |"
    sed -e 's/^/    /' -e 's/^    $//' "config/$f"
  done
} > deploy/k8s/configmap.yaml
