// numberCandidates: which E.164 number a dialed destination stands for (the number catalog's key).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { numberCandidates } from "../../registrar/routing";

describe("numberCandidates", () => {
  it("takes an E.164 number as it is, and the international forms without + or with 00 as that number", () => {
    expect(numberCandidates("+14155550100")).toEqual(["+14155550100"]);
    expect(numberCandidates("14155550100")).toEqual(["+14155550100"]);
    expect(numberCandidates("0014155550100")).toEqual(["+14155550100"]);
    expect(numberCandidates("004930901820")).toEqual(["+4930901820"]);
  });

  it("ignores whitespace around the destination", () => {
    expect(numberCandidates("  +14155550100\t")).toEqual(["+14155550100"]);
    expect(numberCandidates("\n0014155550100 ")).toEqual(["+14155550100"]);
  });

  it("takes 7 to 15 digits, as E.164 allows, and nothing shorter or longer", () => {
    expect(numberCandidates("+1234567")).toEqual(["+1234567"]);
    expect(numberCandidates("+123456789012345")).toEqual(["+123456789012345"]);
    expect(numberCandidates("+123456")).toEqual([]);
    expect(numberCandidates("+1234567890123456")).toEqual([]);
    expect(numberCandidates("1234567")).toEqual(["+1234567"]);
    expect(numberCandidates("123456789012345")).toEqual(["+123456789012345"]);
    expect(numberCandidates("123456")).toEqual([]);
    expect(numberCandidates("1234567890123456")).toEqual([]);
    expect(numberCandidates("001234567")).toEqual(["+1234567"]);
    expect(numberCandidates("00123456789012345")).toEqual(["+123456789012345"]);
    expect(numberCandidates("00123456")).toEqual([]);
    expect(numberCandidates("001234567890123456")).toEqual([]);
  });

  it("a device's extension is not a number", () => {
    for (const extension of ["1000", "9196", "101", "123456"]) expect(numberCandidates(extension)).toEqual([]);
  });

  it("a country code never starts with 0: national and malformed forms are not numbers", () => {
    expect(numberCandidates("+04155550100")).toEqual([]);
    expect(numberCandidates("04155550100")).toEqual([]);
    expect(numberCandidates("0004155550100")).toEqual([]);
    expect(numberCandidates("+0014155550100")).toEqual([]);
  });

  it("anything but digits around the number is not a number", () => {
    for (const text of [
      "",
      "+",
      "00",
      "++14155550100",
      "x+14155550100",
      "+14155550100x",
      "x14155550100",
      "14155550100x",
      "x0014155550100",
      "0014155550100x",
      "+1415555010a",
      "+1 415 555 0100",
      "+1-415-555-0100",
      "sip:+14155550100@acme.test",
      "+14155550100\n1",
      "١٤١٥٥٥٥٠١٠٠", // Arabic-Indic digits are not \d
    ]) {
      expect(numberCandidates(text), text).toEqual([]);
    }
  });

  it("the three forms of any E.164 number give that number, and only it", () => {
    const e164Digits = fc
      .tuple(fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 6, maxLength: 14 }))
      .map(([first, rest]) => `${first}${rest.join("")}`);
    fc.assert(
      fc.property(e164Digits, (digits) => {
        for (const form of [`+${digits}`, digits, `00${digits}`]) expect(numberCandidates(form)).toEqual([`+${digits}`]);
      }),
    );
  });
});
