package dev.ultrakv.kvcache.policy;

import java.util.Objects;

/**
 * A policy that hands every call to another: the base of policies that watch the index's calls while another
 * policy keeps the order (the simulator's recorder of block uses, tests' recorders). A subclass overrides what it
 * watches and calls {@code super} to forward.
 */
public abstract class ForwardingPolicy implements EvictionPolicy {
    private final EvictionPolicy delegate;

    /** @param delegate the policy that orders the victims */
    protected ForwardingPolicy(EvictionPolicy delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public PolicyKind kind() {
        return delegate.kind();
    }

    @Override
    public void onInsert(BlockEntry entry, boolean requested) {
        delegate.onInsert(entry, requested);
    }

    @Override
    public void onAccess(BlockEntry entry) {
        delegate.onAccess(entry);
    }

    @Override
    public void onPromptEnd(BlockEntry entry) {
        delegate.onPromptEnd(entry);
    }

    @Override
    public void onEvictable(BlockEntry entry) {
        delegate.onEvictable(entry);
    }

    @Override
    public void onUnevictable(BlockEntry entry) {
        delegate.onUnevictable(entry);
    }

    @Override
    public void onRemove(BlockEntry entry) {
        delegate.onRemove(entry);
    }

    @Override
    public BlockEntry selectVictim() {
        return delegate.selectVictim();
    }

    @Override
    public int size() {
        return delegate.size();
    }

    @Override
    public void checkInvariants(int expectedSize, int expectedEvictable) {
        delegate.checkInvariants(expectedSize, expectedEvictable);
    }
}
