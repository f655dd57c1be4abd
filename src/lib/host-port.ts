/**
 * A `host:port` endpoint as stork's configuration names them: a host name or IPv4 address, or a bracketed
 * IPv6 address, then a port. (grpc-js and URLs take more forms; the flags and drivers take only this one.)
 */
export const hostPortPattern = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/;
