# Asterisk 22 from Debian's sid packages, as `python -m stack` provisions it in a chroot.
FROM debian:sid-slim
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm \
 && rm -rf /var/lib/apt/lists/*
# Configuration and prompts: `python -m stack docker-config` renders them into var/docker.
CMD ["/usr/sbin/asterisk", "-f", "-g", "-C", "/srv/hotline/docker/etc/asterisk.conf"]
