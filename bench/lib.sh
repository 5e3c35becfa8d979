# Shared by the bench/*/run.sh scripts (sourced, POSIX sh).

# free_port: a 127.0.0.1 port free for both TCP and UDP and never handed out
# before by this run (the list is a file, $PP_BENCH_PORTS or $TMP/ports,
# since callers run it in $(...) subshells).
free_port() {
	_ports=${PP_BENCH_PORTS:-$TMP/ports}
	[ -f "$_ports" ] || : >"$_ports"
	/usr/bin/python3 -c 'import socket, sys
used = set(int(x) for x in open(sys.argv[1]).read().split())
for _ in range(200):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        b.bind(("127.0.0.1", p))
    except OSError:
        continue
    if p not in used:
        open(sys.argv[1], "a").write(f"{p}\n"); print(p); break' "$_ports"
}

# nginx_conf DIR PORT ROOT: DIR/nginx.conf for nginx serving ROOT on
# 127.0.0.1:PORT as a static file server tuned like phoneprovd's (no access
# log, sendfile, long keep-alive); creates DIR/logs. Run it with
# nginx -c DIR/nginx.conf -p DIR.
nginx_conf() {
	mkdir -p "$1/logs"
	_user=""
	[ "$(id -u)" != 0 ] || _user="user $(id -un) $(id -gn);"
	cat >"$1/nginx.conf" <<NGINX
$_user
worker_processes auto;
daemon off;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $1/cb;
    proxy_temp_path $1/px;
    fastcgi_temp_path $1/fc;
    uwsgi_temp_path $1/uw;
    scgi_temp_path $1/sc;
    types { text/plain cfg; }
    server {
        listen 127.0.0.1:$2;
        root $3;
    }
}
NGINX
}
