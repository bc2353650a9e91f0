package dev.planetary.proxy.log;

import java.net.InetAddress;

/**
 * What the connection log keeps of one connection: a few fields captured by the event loop when the connection
 * closes (no string is built there), formatted later by the log's own thread. Field names follow HAProxy's log
 * variables ({@code %ci %cp %t %ft %b %s %Tw %Tc %Tt %B %ts %ac %fc %bc %sc %rc %sq %bq}).
 *
 * <p>Written by one event loop, then handed over through the log's queue (whose release/acquire makes the writes
 * visible to the log thread); never touched by the event loop again.
 */
public final class ConnectionRecord {

    /** {@code %ci}, {@code %cp}: the client's address and port. */
    public InetAddress clientIp;
    public int clientPort;
    /** {@code %t}: when the connection was accepted, wall-clock milliseconds since the epoch. */
    public long acceptEpochMs;
    /** {@code %ft}, {@code %b}: frontend and backend names. */
    public String frontend;
    public String backend;
    /** {@code %s}: the server that took the connection, or null for {@code <NOSRV>}. */
    public String server;
    /** {@code %Tw}: ms spent waiting for a maxconn slot and in the backend queue; -1 when it never got out. */
    public int tw;
    /** {@code %Tc}: ms to establish the server connection; -1 when none was established. */
    public int tc;
    /** {@code %Tt}: ms from accept to close. */
    public int tt;
    /** {@code %B}: bytes sent to the client. */
    public long bytesToClient;
    /** {@code %ts}: termination state, two characters as HAProxy's ({@link TerminationState}). */
    public char endCause = '-';
    public char endPhase = '-';
    /** {@code %ac/%fc/%bc/%sc}: connections of the process, frontend, backend and server when it was logged. */
    public int actconn;
    public int feconn;
    public int beconn;
    public int srvconn;
    /** {@code %rc}: connect retries; written with a '+' in front when the connection was redispatched. */
    public int retries;
    public boolean redispatched;
    /** {@code %sq/%bq}: connections queued ahead of it on the server and in the backend. */
    public int srvQueue;
    public int backendQueue;
}
