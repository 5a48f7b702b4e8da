"""Pure hit-generation logic: normalisation, validation, the reference index,
matching, scoring and de-duplication decisions. No Flink import, ever: this
package runs inside Flink's Python workers and in millisecond unit tests alike.
"""
