#!/usr/bin/env python3
# Parallel Python's sum-of-primes demo, unchanged: Taskfleet's python plugin runs sum_primes(n)
# for every input of sum_primes.json, on every node, with this file shipped once per job.
import math


def isprime(n):
    """Returns True if n is prime and False otherwise"""
    if not isinstance(n, int):
        raise TypeError("argument passed to is_prime is not of 'int' type")
    if n < 2:
        return False
    if n == 2:
        return True
    max = int(math.ceil(math.sqrt(n)))
    i = 2
    while i <= max:
        if n % i == 0:
            return False
        i += 1
    return True


def sum_primes(n):
    """Calculates sum of all primes below given integer n"""
    return sum([x for x in range(2, n) if isprime(x)])


if __name__ == "__main__":
    # Run by hand, it computes the same sums one after the other.
    for n in range(100000, 100800, 100):
        print("Sum of primes below", n, "is", sum_primes(n))
