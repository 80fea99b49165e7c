// How many MJML documents this process has rendered. Fan-out renders once per segment, so this
// should grow by the number of segments per edition, not by readers; metrics and the benchmark read it.
export const templateStats = { mjmlRenders: 0 };
