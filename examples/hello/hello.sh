#!/bin/sh
echo "hello from conveyor"
