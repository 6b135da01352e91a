const FORMAT = /^\d{3}-\d{2}-\d{5}$/;
const WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5] as const;

/**
 * Korean business registration number (사업자등록번호), `123-45-67890`: the last digit is a check digit
 * over the first nine with weights 1,3,7,1,3,7,1,3,5, plus the carry of the ninth digit times five.
 */
export function isValidBusinessRegistrationNumber(value: string): boolean {
  if (!FORMAT.test(value)) return false;
  const digits = value.replaceAll("-", "").split("").map(Number);
  let sum = 0;
  WEIGHTS.forEach((weight, i) => {
    sum += (digits[i] as number) * weight;
  });
  sum += Math.floor(((digits[8] as number) * 5) / 10);
  return (10 - (sum % 10)) % 10 === digits[9];
}
