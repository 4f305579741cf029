#!/usr/bin/env bash
# Start the local services the test suite talks to, if they are down (this machine kind's commands).
set -u

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if command -v pg_isready >/dev/null; then
  pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable" >&2; exit 1; }
fi

# RabbitMQ: execution nodes over AMQP.
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! rabbit_up && command -v rabbitmq-server >/dev/null; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
fi
rabbit_up || { echo "RabbitMQ is not reachable on 127.0.0.1:5672" >&2; exit 1; }

# Mosquitto: MQTT streams.
mqtt_up() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
if ! mqtt_up && command -v mosquitto >/dev/null; then
  echo "starting Mosquitto"
  mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
  for _ in $(seq 1 30); do mqtt_up && break; sleep 1; done
fi
mqtt_up || { echo "Mosquitto is not reachable on 127.0.0.1:1883" >&2; exit 1; }
