#pragma once
// A follower process of the fan-out scenario: groupchat_bench re-executed
// with a hidden first argument, holding many followers of one group on hand-
// spoken ZMTP connections (zmtp_dealer.hpp) in one epoll loop, and talking
// to the parent over its stdin and stdout in lines of text.
//
//   groupchat_bench --follower-process HOST PORT FIRST COUNT USER_PREFIX
//
// Follower i (FIRST <= i < FIRST + COUNT) connects to HOST:PORT, joins the
// group as user USER_PREFIX-i, follows it (both requests as our client sends
// them: [empty delimiter][body]) and renews its follow every
// gc::kFollowRenewMs, the renewals of all followers spread evenly over that
// period. Connections are opened a few at a time, so that the group's
// listen backlog never overflows.
//
// Lines out (stdout):
//   ready N CPU_MS           every follow is confirmed (once); the process's CPU time so far
//   done SEQ RECEIVED LAST   every follower has received SEQ or a later seq
//                            past a gap (so SEQ will never come): RECEIVED
//                            of them got it, the last at LAST (CLOCK_MONOTONIC ns)
//   have SEQ RECEIVED LAST   the answer to "ask"
//   tally MISSED CPU_MS HIST the answer to "tally"
//   error TEXT               the process could not go on (it then exits 1),
//                            or was not told to end within 15 minutes
// Lines in (stdin; end of input ends the process):
//   t0 SEQ NS                SEQ was answered SUCCESS at NS: count each
//                            receipt's latency from then (pushes read earlier
//                            count as 0)
//   forget FIRST LAST        do not keep receipt times for these seqs
//   ask SEQ                  how many have SEQ so far
//   tally FIRST LAST         pushes of seqs FIRST..LAST that have not arrived,
//                            the process's CPU time, and the histogram of
//                            receipt latencies (log_histogram.hpp)
#include <string_view>

namespace bench {

inline constexpr std::string_view kFollowerProcessFlag = "--follower-process";

// The process's main: `args` are the arguments after the flag. Returns the exit status.
int follower_process_main(int argc, char** argv);

}  // namespace bench
