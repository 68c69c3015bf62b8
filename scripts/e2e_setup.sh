#!/usr/bin/env bash
# Placeholder until the end-to-end setup lands: PostgreSQL and the targets' virtual environments.
exit 0
