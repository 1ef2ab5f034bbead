#!/bin/sh
# Offline stand-in for Bazel's coverage tools (see ../README.md).
echo "remote_coverage_tools: coverage tools are not available in this offline build" >&2
exit 1
