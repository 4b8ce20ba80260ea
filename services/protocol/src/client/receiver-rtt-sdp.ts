// For apps in a browser: asks the robot to tell the page its round trip (RTCP XR Receiver Reference Time, RFC 3611).
//
// A page that only receives video never sends sender reports, so Chromium does not know its round trip to the robot
// and re-requests a lost packet every 100 ms (its default). On a lossy link a packet whose request or retransmission
// is lost then holds the picture for 100 ms per try, and two failed tries are a visible freeze. Chromium measures
// the round trip of a receive-only stream when its own description lists `rrtr` for the codec; it does not offer
// it by default, so the offer is amended before it is set. The robot's streamer answers the reports.

/** The offer with `a=rtcp-fb:<pt> rrtr` next to every video codec's NACK feedback line. */
export function withReceiverRtt(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  // Sections: the session part, then one per m-line.
  const sections: string[][] = [[]];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1]!.push(line);
  }
  return sections
    .flatMap((section) => {
      if (!section[0]?.startsWith('m=video')) return section;
      const present = new Set(section.map((l) => /^a=rtcp-fb:(\d+) rrtr$/.exec(l)?.[1]).filter(Boolean));
      return section.flatMap((line) => {
        const pt = /^a=rtcp-fb:(\d+) nack$/.exec(line)?.[1];
        return pt !== undefined && !present.has(pt) ? [line, `a=rtcp-fb:${pt} rrtr`] : [line];
      });
    })
    .join(eol);
}
