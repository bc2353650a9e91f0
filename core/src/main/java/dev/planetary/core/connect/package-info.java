/**
 * One proxied connection's decisions, without I/O: which server to connect to and when to retry
 * ({@link dev.planetary.core.connect.ConnectAttempt}), and when an idle connection is closed
 * ({@link dev.planetary.core.connect.IdleDeadlines}). Time is an argument ({@code long nowNanos}); the proxy's event
 * loop owns each instance, so nothing here is shared between threads.
 */
package dev.planetary.core.connect;
