/** One instruction of a Dockerfile, with the index of the build stage (FROM) it belongs to. */
export interface DockerInstruction {
  keyword: string;
  args: string;
  stage: number;
}

/**
 * The instructions of a Dockerfile: line continuations joined, comments (and the syntax directive) dropped.
 * Enough for the files we write; not a general parser (no heredocs, no escape directive).
 */
export function dockerInstructions(text: string): DockerInstruction[] {
  let stage = -1;
  return text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      if (keyword.toUpperCase() === "FROM") stage++;
      return { keyword: keyword.toUpperCase(), args: rest.join(" "), stage };
    });
}
