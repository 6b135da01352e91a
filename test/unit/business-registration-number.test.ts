import { describe, expect, it } from "bun:test";
import { isValidBusinessRegistrationNumber } from "../../src/domain/users/business-registration-number";

const VALID = "124-81-00998";
const DIGIT_POSITIONS = [0, 1, 2, 4, 5, 7, 8, 9, 10, 11];

const withCharAt = (value: string, index: number, char: string) =>
  value.slice(0, index) + char + value.slice(index + 1);

describe("isValidBusinessRegistrationNumber", () => {
  // Worked by hand with weights 1,3,7,1,3,7,1,3,5 plus floor(ninth digit × 5 / 10), check = (10 − sum mod 10) mod 10.
  it.each([
    ["124-81-00998", "1+6+28+8+3+0+0+27+45 = 118, carry floor(45/10) = 4, sum 122 → check 8"],
    ["220-81-62517", "2+6+0+8+3+42+2+15+5 = 83, carry floor(5/10) = 0, sum 83 → check 7"],
    ["123-45-67891", "1+6+21+4+15+42+7+24+45 = 165, carry floor(45/10) = 4, sum 169 → check 1"],
    ["123-45-67800", "1+6+21+4+15+42+7+24+0 = 120, carry 0, sum 120 → check (10 − 0) mod 10 = 0"],
  ])("accepts %s (%s)", (value) => {
    expect(isValidBusinessRegistrationNumber(value)).toBe(true);
  });

  it("refuses every check digit but the right one", () => {
    const refused = "0123456789"
      .split("")
      .filter((digit) => !isValidBusinessRegistrationNumber(withCharAt(VALID, 11, digit)));
    expect(refused).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "9"]);
  });

  // Weights 1, 3 and 7 are units mod 10 and the ninth digit's 5·d + floor(d/2) is distinct mod 10,
  // so changing any one digit must always break the checksum.
  it.each(DIGIT_POSITIONS)("refuses a number whose digit at index %i was changed to any other digit", (index) => {
    const original = VALID[index] as string;
    for (const digit of "0123456789".split("").filter((d) => d !== original)) {
      const changed = withCharAt(VALID, index, digit);
      expect({ changed, valid: isValidBusinessRegistrationNumber(changed) }).toEqual({ changed, valid: false });
    }
  });

  it.each([
    ["without dashes", "1248100998"],
    ["with spaces instead of dashes", "124 81 00998"],
    ["with en dashes", "124–81–00998"],
    ["with a letter in the serial", "124-81-0099A"],
    ["with a letter in the first group", "12O-81-00998"],
    ["with full-width digits", "１２４-８１-００９９８"],
    ["with a two-digit first group", "12-481-00998"],
    ["with a four-digit first group", "1248-1-00998"],
    ["with a one-digit middle group", "124-8-100998"],
    ["with a three-digit middle group", "124-810-0998"],
    ["with a four-digit last group", "124-81-0099"],
    ["with a six-digit last group", "124-81-009980"],
    ["with a leading space", " 124-81-00998"],
    ["with a trailing space", "124-81-00998 "],
    ["with a trailing newline", "124-81-00998\n"],
    ["empty", ""],
  ])("refuses a number %s", (_, value) => {
    expect(isValidBusinessRegistrationNumber(value)).toBe(false);
  });
});
