#!/bin/sh
echo "svc running"
exec sleep 3600
