/** The part of petrovich (a CommonJS library without types) that dozor uses: Russian names by gender, name part and case. */
declare module 'petrovich' {
  type Case = 'nominative' | 'genitive' | 'dative' | 'accusative' | 'instrumental' | 'prepositional';
  type Inflect = Record<Case, (name: string) => string>;
  type ByGender = { first: Inflect; middle: Inflect; last: Inflect };
  const petrovich: { male: ByGender; female: ByGender; androgynous: ByGender };
  export default petrovich;
}
