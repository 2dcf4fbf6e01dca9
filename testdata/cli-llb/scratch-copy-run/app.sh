#!/bin/sh
echo app "$@"
