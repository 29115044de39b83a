// The local dev chain `ember up` serves (`hardhat node`), shaped like the real one: blocks
// come on a clock, so a block after every round's lock always exists, and a transaction
// is still mined at once (automine) so deployments and tests do not wait for the clock.
const blockMs = Number.parseInt(process.env.EMBER_CHAIN_BLOCK_MS ?? "1000", 10);
if (!Number.isInteger(blockMs) || blockMs <= 0) {
  throw new Error(`invalid setting EMBER_CHAIN_BLOCK_MS: must be a positive integer of ms, got ${process.env.EMBER_CHAIN_BLOCK_MS}`);
}

// Only `hardhat node` reads this file: the contracts are compiled by build.mjs (solc-js),
// not by Hardhat, so there is no `solidity` section to keep in step with it.
/** @type {import("hardhat/config").HardhatUserConfig} */
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
      mining: { auto: true, interval: blockMs },
      // Block timestamps follow the wall clock, as on a real chain. Without this Hardhat
      // gives every automined block at least the previous timestamp + 1, so a burst of
      // transactions (a deployment) pushes chain time ahead of real time, and a block
      // "after lock_at" could exist while bets are still being taken.
      allowBlocksWithSameTimestamp: true,
    },
  },
};
