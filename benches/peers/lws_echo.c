/*
 * libwebsockets TLS echo server used as a benchmark peer for `wss`.
 *
 *   lws_echo <cert.pem> <key.pem>
 *
 * Listens on 127.0.0.1 with an ephemeral port (port 0, read back with
 * lws_get_vhost_listen_port) and prints `PORT <n>` as the first stdout line.
 * Single-threaded lws_service() loop, lws defaults except:
 *   - logging limited to errors,
 *   - protocol rx_buffer_size = 1 MiB, so a 1 MiB message arrives in one
 *     RECEIVE callback (env LWS_RX_BUFFER overrides),
 *   - pt_serv_buf_size left at the lws default unless env LWS_SERV_BUF is set.
 *
 * Messages are echoed fragment by fragment: every chunk lws hands to
 * LWS_CALLBACK_RECEIVE is queued and written back with
 * lws_write_ws_flags(opcode, first, final) (i.e. LWS_WRITE_CONTINUATION /
 * LWS_WRITE_NO_FIN as appropriate), so messages of any size (tested with
 * 1 MiB) come back byte-identical with the same opcode. Writes happen in
 * LWS_CALLBACK_SERVER_WRITEABLE, as many as fit while !lws_send_pipe_choked().
 * If more than 8 MiB is queued for one connection, rx is paused
 * (lws_rx_flow_control) until the queue drains below 1 MiB.
 */
#include <libwebsockets.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIGH_WATER (8u * 1024 * 1024)
#define LOW_WATER (1u * 1024 * 1024)

struct frag {
	struct frag *next;
	size_t len;
	int flags;
	unsigned char buf[]; /* LWS_PRE + len */
};

struct pss {
	struct frag *head, *tail;
	size_t queued;
	int binary; /* opcode of the message currently being received */
	int paused;
};

static volatile int interrupted;

static void sigint_handler(int sig) { (void)sig; interrupted = 1; }

static void free_queue(struct pss *p)
{
	struct frag *f = p->head, *n;
	while (f) {
		n = f->next;
		free(f);
		f = n;
	}
	p->head = p->tail = NULL;
	p->queued = 0;
}

static int callback_echo(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct pss *p = (struct pss *)user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(p, 0, sizeof(*p));
		break;

	case LWS_CALLBACK_RECEIVE: {
		int first = lws_is_first_fragment(wsi);
		int fin = lws_is_final_fragment(wsi);
		struct frag *f;

		if (first)
			p->binary = lws_frame_is_binary(wsi);
		f = malloc(sizeof(*f) + LWS_PRE + len);
		if (!f)
			return -1;
		f->next = NULL;
		f->len = len;
		f->flags = lws_write_ws_flags(p->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT,
					      first, fin);
		if (len)
			memcpy(f->buf + LWS_PRE, in, len);
		if (p->tail)
			p->tail->next = f;
		else
			p->head = f;
		p->tail = f;
		p->queued += len;
		if (!p->paused && p->queued > HIGH_WATER) {
			p->paused = 1;
			lws_rx_flow_control(wsi, 0);
		}
		lws_callback_on_writable(wsi);
		break;
	}

	case LWS_CALLBACK_SERVER_WRITEABLE:
		while (p->head && !lws_send_pipe_choked(wsi)) {
			struct frag *f = p->head;
			int n = lws_write(wsi, f->buf + LWS_PRE, f->len,
					  (enum lws_write_protocol)f->flags);
			if (n < (int)f->len) {
				lwsl_err("lws_write failed (%d of %zu)\n", n, f->len);
				return -1;
			}
			p->head = f->next;
			if (!p->head)
				p->tail = NULL;
			p->queued -= f->len;
			free(f);
		}
		if (p->paused && p->queued < LOW_WATER) {
			p->paused = 0;
			lws_rx_flow_control(wsi, 1);
		}
		if (p->head)
			lws_callback_on_writable(wsi);
		break;

	case LWS_CALLBACK_CLOSED:
		free_queue(p);
		break;

	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
	return 0;
}

static struct lws_protocols protocols[] = {
	{ "echo", callback_echo, sizeof(struct pss), 1 << 20, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *context;
	struct lws_vhost *vh;
	const char *env;

	if (argc < 3) {
		fprintf(stderr, "usage: %s <cert.pem> <key.pem>\n", argv[0]);
		return 2;
	}
	signal(SIGINT, sigint_handler);
	signal(SIGTERM, sigint_handler);
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR, NULL);

	if ((env = getenv("LWS_RX_BUFFER")) && atoi(env) > 0)
		protocols[0].rx_buffer_size = (size_t)atoi(env);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	if ((env = getenv("LWS_SERV_BUF")) && atoi(env) > 0)
		info.pt_serv_buf_size = (unsigned int)atoi(env);

	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws_create_context failed\n");
		return 1;
	}

	info.port = 0; /* ephemeral */
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.vhost_name = "default";
	info.ssl_cert_filepath = argv[1];
	info.ssl_private_key_filepath = argv[2];

	vh = lws_create_vhost(context, &info);
	if (!vh) {
		fprintf(stderr, "lws_create_vhost failed (TLS or listen setup)\n");
		lws_context_destroy(context);
		return 1;
	}
	printf("PORT %d\n", lws_get_vhost_listen_port(vh));
	fflush(stdout);

	while (!interrupted && lws_service(context, 0) >= 0)
		;

	lws_context_destroy(context);
	return 0;
}
