-- tcptop-query --schema=postgresql; docs/QUERY.md lists 9 changes
-- tcptop-query PostgreSQL tables: load with tcptop-query --format csv (docs/SCALE.md)

CREATE TABLE capture (
	file text NOT NULL,
	host text NOT NULL,
	kernel text NOT NULL,
	boot_id text NOT NULL,
	start_ns bigint NOT NULL,
	end_ns bigint,
	mode text NOT NULL,
	coalesce_ms bigint NOT NULL,
	filters text NOT NULL,
	probes text NOT NULL,
	tool_version text NOT NULL,
	format_version text NOT NULL,
	clock text NOT NULL,
	events bigint NOT NULL,
	warnings bigint NOT NULL,
	missing text NOT NULL,
	raw_slice_ns bigint NOT NULL,
	writing bigint NOT NULL
);

CREATE TABLE connections (
	file text NOT NULL,
	host text NOT NULL,
	id bigint NOT NULL,
	proto text,
	family bigint,
	laddr text,
	lport bigint,
	raddr text,
	rport bigint,
	direction text,
	pid bigint,
	comm text,
	cgroup bigint,
	netns bigint,
	first_ts bigint NOT NULL,
	last_ts bigint NOT NULL,
	close_ts bigint,
	tx_bytes bigint NOT NULL,
	rx_bytes bigint NOT NULL,
	tx_packets bigint NOT NULL,
	rx_packets bigint NOT NULL,
	state text,
	rtt_us bigint,
	max_rtt_us bigint,
	retransmits bigint NOT NULL,
	resets bigint NOT NULL,
	closed bigint NOT NULL,
	preexisting bigint NOT NULL,
	events bigint NOT NULL,
	community_id text,
	retrans_rto bigint NOT NULL,
	retrans_fast bigint NOT NULL,
	retrans_tlp bigint NOT NULL,
	retrans_spurious bigint NOT NULL,
	connect_us bigint,
	accept_wait_us bigint,
	syn_retrans bigint,
	fail_reason text,
	zero_window_ms bigint
);

CREATE TABLE events (
	file text NOT NULL,
	host text NOT NULL,
	ts bigint NOT NULL,
	kind text NOT NULL,
	conn_id bigint,
	pid bigint,
	tid bigint,
	flags bigint NOT NULL,
	tx_bytes bigint,
	rx_bytes bigint,
	tx_packets bigint,
	rx_packets bigint,
	tx_calls bigint,
	rx_calls bigint,
	old_state text,
	new_state text,
	state text,
	rtt_us bigint,
	rttvar_us bigint,
	retrans bigint,
	reset_dir text,
	proto text,
	family bigint,
	laddr text,
	lport bigint,
	raddr text,
	rport bigint,
	direction text,
	netns bigint,
	cgroup bigint,
	comm text,
	ppid bigint,
	exit_code bigint,
	lost bigint,
	cpu bigint,
	stat_events bigint,
	stat_conns bigint,
	stat_bytes bigint,
	community_id text,
	cause text,
	spurious bigint,
	accept_queue bigint,
	accept_queue_max bigint,
	listen_drops bigint,
	reason text,
	drop_code bigint,
	fail_reason text,
	connect_us bigint,
	syn_retrans bigint,
	accept_wait_us bigint
);

CREATE TABLE processes (
	file text NOT NULL,
	host text NOT NULL,
	pid bigint NOT NULL,
	comm text,
	ppid bigint,
	first_ts bigint NOT NULL,
	last_ts bigint NOT NULL,
	exit_ts bigint,
	exit_code bigint,
	execs bigint NOT NULL,
	connections bigint NOT NULL
);

CREATE TABLE lost (
	file text NOT NULL,
	host text NOT NULL,
	ts bigint NOT NULL,
	cpu bigint NOT NULL,
	count bigint NOT NULL
);

CREATE TABLE listeners (
	file text NOT NULL,
	host text NOT NULL,
	ts bigint NOT NULL,
	laddr text,
	lport bigint NOT NULL,
	pid bigint,
	comm text,
	accept_queue bigint NOT NULL,
	accept_queue_max bigint NOT NULL,
	overflows bigint NOT NULL,
	syn_drops bigint,
	family bigint NOT NULL,
	netns bigint NOT NULL
);

CREATE TABLE drops (
	file text NOT NULL,
	host text NOT NULL,
	ts bigint NOT NULL,
	conn_id bigint,
	reason text,
	code bigint NOT NULL
);

CREATE TABLE samples (
	file text NOT NULL,
	host text NOT NULL,
	conn_id bigint NOT NULL,
	ts bigint NOT NULL,
	srtt_us bigint NOT NULL,
	min_rtt_us bigint NOT NULL,
	rttvar_us bigint NOT NULL,
	cwnd bigint NOT NULL,
	ssthresh bigint,
	pacing_rate bigint,
	delivery_rate bigint NOT NULL,
	app_limited bigint NOT NULL,
	in_flight bigint NOT NULL,
	lost bigint NOT NULL,
	reordering bigint NOT NULL,
	dsack_dups bigint NOT NULL,
	busy_us bigint NOT NULL,
	rwnd_limited_us bigint NOT NULL,
	sndbuf_limited_us bigint NOT NULL,
	snd_wnd bigint NOT NULL,
	rcv_wnd bigint NOT NULL
);

CREATE TABLE stalls (
	file text NOT NULL,
	host text NOT NULL,
	conn_id bigint NOT NULL,
	side text NOT NULL,
	start_ns bigint NOT NULL,
	end_ns bigint
);

